// Drives the embedded engine with the npm `zeebe-node` client (a second real client beside zbctl).
// Usage: node conformance.js <host:port> <folder with zn-demo.bpmn and zn-order.bpmn>
// Prints one JSON object (what each call answered) on stdout; exits non-zero on any error.
'use strict'
const path = require('path')
const { ZBClient } = require('zeebe-node')

async function main() {
  const [address, folder] = process.argv.slice(2)
  const zbc = new ZBClient(address, { useTLS: false, loglevel: 'NONE', retry: false, longPoll: 5000 })
  const out = {}
  try {
    const topology = await zbc.topology()
    out.topology = { clusterSize: topology.clusterSize, gatewayVersion: topology.gatewayVersion,
                     brokers: topology.brokers.length }
    const deployed = await zbc.deployResource({ processFilename: path.join(folder, 'zn-demo.bpmn') })
    out.deployResource = deployed.deployments.map(d => d.process)
    const legacy = await zbc.deployProcess(path.join(folder, 'zn-order.bpmn'))  // the deprecated RPC
    out.deployProcess = legacy.processes

    const seen = []
    zbc.createWorker({ taskType: 'zn-transform', taskHandler: job => {
      seen.push(['zn-transform', job.variables, job.customHeaders])
      return job.complete({ upper: String(job.variables.text).toUpperCase() })
    } })
    zbc.createWorker({ taskType: 'zn-publish-outcome', taskHandler: job => {
      seen.push(['zn-publish-outcome', job.variables, job.customHeaders])
      return job.complete({ published: true })
    } })
    let failedOnce = false
    zbc.createWorker({ taskType: 'zn-after-payment', taskHandler: job => {
      seen.push(['zn-after-payment', job.variables, job.retries])
      if (!failedOnce) {  // FailJob with retries left: the engine hands the job out again
        failedOnce = true
        return job.fail('first try fails', job.retries - 1)
      }
      return job.complete({ shipped: true })
    } })

    const plain = await zbc.createProcessInstance({ bpmnProcessId: 'zn-demo', variables: { text: 'plain' } })
    out.createProcessInstance = plain
    const result = await zbc.createProcessInstanceWithResult({
      bpmnProcessId: 'zn-demo', variables: { text: 'hello' }, requestTimeout: 20000 })
    out.createProcessInstanceWithResult = result

    // a message published before the instance exists is buffered (TTL) and correlates later
    out.publishMessage = await zbc.publishMessage({
      name: 'zn-paid', correlationKey: 'order-7', variables: { amount: 12 }, timeToLive: 60000,
      messageId: 'zn-msg-1' })
    try {
      await zbc.publishMessage({ name: 'zn-paid', correlationKey: 'order-7', variables: {}, timeToLive: 60000,
                                 messageId: 'zn-msg-1' })
      out.duplicateMessageId = 'accepted'
    } catch (err) {
      out.duplicateMessageId = { code: err.code, message: String(err.message) }
    }
    out.order = await zbc.createProcessInstanceWithResult({
      bpmnProcessId: 'zn-order', variables: { orderId: 'order-7' }, requestTimeout: 20000 })

    const waiting = await zbc.createProcessInstance({ bpmnProcessId: 'zn-order', variables: { orderId: 'order-8' } })
    await zbc.cancelProcessInstance(waiting.processInstanceKey)
    try {
      await zbc.cancelProcessInstance(waiting.processInstanceKey)
      out.cancelAgain = 'accepted'
    } catch (err) {
      out.cancelAgain = { code: err.code, message: String(err.message) }
    }
    try {
      await zbc.createProcessInstance({ bpmnProcessId: 'zn-missing', variables: {} })
      out.unknownProcess = 'accepted'
    } catch (err) {
      out.unknownProcess = { code: err.code, message: String(err.message) }
    }
    out.jobs = seen
  } finally {
    await zbc.close(5000)
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().then(() => process.exit(0), err => {
  process.stderr.write(`zeebe-node conformance failed: ${err && err.stack || err}\n`)
  process.exit(1)
})
