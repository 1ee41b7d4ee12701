// Drives the embedded engine with the gRPC client of Camunda's own Node SDK, `@camunda8/sdk` (8.8):
// `new Camunda8(config).getZeebeGrpcApiClient()`, configured with Camunda's names
// (CAMUNDA_AUTH_STRATEGY=NONE, ZEEBE_GRPC_ADDRESS, an insecure connection, CAMUNDA_TENANT_ID).
// Usage: node camunda8_sdk.js <host:port> <host:port with multi-tenancy on> <folder with the BPMN files>
// Prints one JSON object (what each call answered) on stdout; exits non-zero on any error.
'use strict'
const path = require('path')
const { Camunda8 } = require('@camunda8/sdk')

function grpcClient(address, tenantId) {
  const config = {
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    // grpc:// = an insecure (plaintext) connection; the SDK calls CAMUNDA_SECURE_CONNECTION /
    // ZEEBE_INSECURE_CONNECTION deprecated beside it
    ZEEBE_GRPC_ADDRESS: `grpc://${address}`,
    CAMUNDA_LOG_LEVEL: 'none',
    zeebeGrpcSettings: { ZEEBE_CLIENT_LOG_LEVEL: 'NONE', ZEEBE_GRPC_CLIENT_RETRY: false,
                         ZEEBE_GRPC_WORKER_LONGPOLL_SECONDS: 5 },
  }
  if (tenantId) config.CAMUNDA_TENANT_ID = tenantId
  return new Camunda8(config).getZeebeGrpcApiClient()
}

function failure(err) {
  return { code: err.code, message: String(err.message) }
}

// Tell the test what we wait for (one JSON line) and wait for its answer on stdin.
const stdinLines = require('readline').createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function handshake(what) {
  process.stdout.write(JSON.stringify({ waiting: what }) + '\n')
  const { done } = await stdinLines.next()
  if (done) throw new Error(`stdin closed while waiting for ${what}`)
}

function waitFor(predicate, what, ms = 20000) {
  const until = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve()
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(tick, 20)
    }
    tick()
  })
}

async function main() {
  const [address, multiTenantAddress, folder] = process.argv.slice(2)
  const zbc = grpcClient(address)
  const out = {}
  const closers = []
  try {
    const topology = await zbc.topology()
    out.topology = { clusterSize: topology.clusterSize, gatewayVersion: topology.gatewayVersion,
                     brokers: topology.brokers.length }
    const deployed = await zbc.deployResource({ processFilename: path.join(folder, 'c8-demo.bpmn') })
    out.deployResource = deployed.deployments.map(d => d.process)
    await zbc.deployResource({ processFilename: path.join(folder, 'c8-order.bpmn') })
    await zbc.deployResource({ processFilename: path.join(folder, 'c8-stream.bpmn') })

    const seen = []
    const worker = zbc.createWorker({ taskType: 'c8-transform', taskHandler: job => {
      seen.push(['c8-transform', job.variables, job.customHeaders])
      return job.complete({ upper: String(job.variables.text).toUpperCase() })
    } })
    closers.push(() => worker.close())
    const after = zbc.createWorker({ taskType: 'c8-after-payment', taskHandler: job => {
      seen.push(['c8-after-payment', job.variables, job.retries])
      return job.complete({ shipped: true })
    } })
    closers.push(() => after.close())

    out.createProcessInstance = await zbc.createProcessInstance({ bpmnProcessId: 'c8-demo', variables: { text: 'plain' } })
    out.createProcessInstanceWithResult = await zbc.createProcessInstanceWithResult({
      bpmnProcessId: 'c8-demo', variables: { text: 'hello' }, requestTimeout: 20000 })

    // job streaming: StreamActivatedJobs plus the SDK's back-fill poll
    const streamed = []
    const earlier = await zbc.createProcessInstance({ bpmnProcessId: 'c8-stream', variables: { n: 1 } })
    const stream = await zbc.streamJobs({ type: 'c8-streamed', worker: 'c8-stream-worker', timeout: 30000,
      pollInterval: -1, taskHandler: job => {
        streamed.push({ key: String(job.processInstanceKey), n: job.variables.n, worker: job.worker })
        return job.complete({ streamed: true })
      } })
    closers.push(() => stream.close())
    await waitFor(() => streamed.length === 1, 'the back-filled job')
    await handshake('stream-registered')  // the test sees the stream open at the engine
    const later = await zbc.createProcessInstance({ bpmnProcessId: 'c8-stream', variables: { n: 2 } })
    await waitFor(() => streamed.length === 2, 'the streamed job')
    out.streamJobs = { jobs: streamed, earlier: String(earlier.processInstanceKey),
                       later: String(later.processInstanceKey) }

    out.publishMessage = await zbc.publishMessage({
      name: 'c8-paid', correlationKey: 'order-7', variables: { amount: 12 }, timeToLive: 60000, messageId: 'c8-msg-1' })
    out.order = await zbc.createProcessInstanceWithResult({
      bpmnProcessId: 'c8-order', variables: { orderId: 'order-7' }, requestTimeout: 20000 })

    const waiting = await zbc.createProcessInstance({ bpmnProcessId: 'c8-order', variables: { orderId: 'order-8' } })
    await zbc.cancelProcessInstance(waiting.processInstanceKey)
    try {
      await zbc.cancelProcessInstance(waiting.processInstanceKey)
      out.cancelAgain = 'accepted'
    } catch (err) {
      out.cancelAgain = failure(err)
    }
    out.jobs = seen

    // a tenant round trip against the multi-tenant engine: CAMUNDA_TENANT_ID is every call's tenant
    const tenant = grpcClient(multiTenantAddress, 'sdk-tenant')
    closers.push(() => tenant.close())
    const inTenant = await tenant.deployResource({ processFilename: path.join(folder, 'c8-demo.bpmn') })
    const tenantWorker = tenant.createWorker({ taskType: 'c8-transform', taskHandler: job => {
      seen.push(['tenant c8-transform', job.variables, job.tenantId])
      return job.complete({ upper: String(job.variables.text).toUpperCase(), tenant: job.tenantId })
    } })
    closers.push(() => tenantWorker.close())
    out.tenant = {
      deployment: inTenant.deployments.map(d => d.process),
      deployTenantId: inTenant.tenantId,
      result: await tenant.createProcessInstanceWithResult({
        bpmnProcessId: 'c8-demo', variables: { text: 'tenant' }, requestTimeout: 20000 }),
      message: await tenant.publishMessage({ name: 'c8-nobody', correlationKey: 'k', variables: {}, timeToLive: 0 }),
    }
    const noTenant = grpcClient(multiTenantAddress)  // the SDK then sends its default, '<default>'
    closers.push(() => noTenant.close())
    try {
      await noTenant.createProcessInstance({ bpmnProcessId: 'c8-demo', variables: {} })
      out.tenant.missing = 'accepted'
    } catch (err) {
      out.tenant.missing = failure(err)
    }
  } finally {
    for (const close of closers.reverse()) {
      try { await close() } catch (err) { /* closing is best effort */ }
    }
    await zbc.close(5000)
  }
  process.stdout.write(JSON.stringify(out) + '\n')
  stdinLines.return()
}

main().then(() => process.exit(0), err => {
  process.stderr.write(`@camunda8/sdk conformance failed: ${err && err.stack || err}\n`)
  process.exit(1)
})
