// "Would Zeebe 8.8 deploy it?" for the corpus judge (benchmarks/corpus.py), decided by Camunda's
// own compatibility rules: bpmnlint with bpmnlint-plugin-camunda-compat's camunda-cloud-8-8
// config (errors only). Not part of CI: needs `npm install bpmnlint@11
// bpmnlint-plugin-camunda-compat zeebe-bpmn-moddle` in a folder given as NODE_PATH.
// Reads a JSON list of file paths on stdin, writes one JSON object per file on stdout.
'use strict';
const fs = require('fs');
const bpmnModdle = require('bpmn-moddle');
const BpmnModdle = bpmnModdle.default || bpmnModdle.BpmnModdle || bpmnModdle;
const zeebe = require('zeebe-bpmn-moddle/resources/zeebe.json');
const { Linter } = require('bpmnlint');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');

async function judge(path, linter) {
  const moddle = new BpmnModdle({ zeebe });
  let root;
  let warnings = [];
  try {
    const xml = fs.readFileSync(path, 'utf8');
    const parsed = await moddle.fromXML(xml, 'bpmn:Definitions');
    root = parsed.rootElement;
    warnings = (parsed.warnings || []).map((w) => w.message);
  } catch (err) {
    return { path, deployable: false, errors: [`unparseable: ${err.message}`] };
  }
  // Diagram interchange does not change what Zeebe deploys, and a stale plane reference makes
  // every rule crash: drop it before linting.
  root.set('diagrams', []);
  const results = await linter.lint(root);
  const errors = [];
  for (const [rule, reports] of Object.entries(results)) {
    for (const r of reports) {
      if (r.category === 'error' || r.category === 'rule-error') {
        errors.push(`${rule}: ${r.id || ''}: ${r.message}`);
      }
    }
  }
  return { path, deployable: errors.length === 0, errors, warnings: warnings.slice(0, 5) };
}

async function main() {
  const files = JSON.parse(fs.readFileSync(0, 'utf8'));
  const linter = new Linter({
    config: { extends: 'plugin:camunda-compat/camunda-cloud-8-8' },
    resolver: new NodeResolver(),
  });
  for (const f of files) {
    process.stdout.write(JSON.stringify(await judge(f, linter)) + '\n');
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
