// Deploys a DMN file and evaluates one of its decisions with the npm `zeebe-node` client.
// Usage: node decisions.js <host:port> <path to .dmn> <decision id> <variables JSON>
// Prints one JSON object {deployed, evaluated, missing} on stdout; exits non-zero on any error.
'use strict'
const { ZBClient } = require('zeebe-node')

async function main() {
  const [address, dmnPath, decisionId, variables] = process.argv.slice(2)
  const zbc = new ZBClient(address, { useTLS: false, loglevel: 'NONE', retry: false })
  const out = {}
  try {
    const deployed = await zbc.deployResource({ decisionFilename: dmnPath })
    out.deployed = deployed.deployments
    out.evaluated = await zbc.evaluateDecision({ decisionId, variables: JSON.parse(variables) })
    try {
      await zbc.evaluateDecision({ decisionId: 'zn-no-such-decision', variables: {} })
      out.missing = { code: 0 }
    } catch (err) {
      out.missing = { code: err.code, message: err.details || err.message }
    }
  } finally {
    await zbc.close()
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch(err => { console.error(err); process.exit(1) })
