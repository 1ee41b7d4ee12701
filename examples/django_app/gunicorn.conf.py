"""gunicorn settings of the example app, read from the current folder by ``gunicorn`` itself.

Threaded workers: each request waiting for its process outcome holds one thread.
"""
worker_class = "gthread"
threads = 32

# gunicorn >= 25.1 opens a control socket per user by default (~/.gunicorn/gunicorn.ctl or
# $XDG_RUNTIME_DIR/gunicorn.ctl), one path shared by every gunicorn of that user on the host,
# the affinity hub's included. The app has no use for it. As a config-file name this is ignored
# by older gunicorn, whereas the --no-control-socket flag would be refused there.
control_socket_disable = True
