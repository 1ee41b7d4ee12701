"""Judge the embedded engine against a corpus of real Camunda 8 BPMN files.

For every Camunda 8 file of the corpus (Camunda 7 files - ``camunda:`` namespace and no ``zeebe:``
extensions - are left out) this script:

1. asks "would Zeebe 8.8 deploy it?" of Camunda's own compatibility rules: bpmnlint with
   ``bpmnlint-plugin-camunda-compat``'s ``camunda-cloud-8-8`` config, errors only
   (``benchmarks/corpus_oracle.js``, run with node; the answers are cached next to the corpus);
2. deploys it to an :class:`EmbeddedZeebe` over real gRPC (``DeployResource``): accepted, or
   refused and why (the element types named in the refusal are counted);
3. for accepted files, starts an instance of each process with a none start event and drives it:
   every job is activated over gRPC and completed with no variables, every user task is completed
   through the engine's Python API, until nothing moves. The instance then either completed,
   waits in a sensible wait state (message, timer, signal... with no incident), or has an
   incident (split into "data" incidents - a variable the generic run does not provide, as Zeebe
   would raise too - and others).

Prints: files per class, the accepted-and-run share of the files Zeebe deploys, the files the
engine accepts that Zeebe refuses, and the most frequent refusal reasons.

The corpus itself is not in the repository (its files come from many repositories under several
licences): ``--corpus`` names a folder of ``*.bpmn`` files with a ``manifest.json`` as written by
the collection step (one entry per file: ``file``, ``repo``, ``path``, ``commit``, ``zeebe_ns``,
``camunda7_ns``, ``platform``). ``--oracle-node-path`` is a ``node_modules`` folder holding
``bpmnlint@11``, ``bpmnlint-plugin-camunda-compat`` and ``zeebe-bpmn-moddle``.

Usage::

    python benchmarks/corpus.py --corpus /work/corpus/bpmn \\
        --oracle-node-path /work/tools-edge/lint/node_modules [--json out.json] [--show-mismatches]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import grpc

from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

HERE = os.path.dirname(os.path.abspath(__file__))
# incidents a generic run (no business variables) would also cause on a real Zeebe
_DATA_INCIDENT = re.compile(r"no variable found|but was 'NULL'|is null|null|not found with name|"
                            r"no message|correlation key|Expected at least one condition to evaluate to true|"
                            r"to be deployed, but not found|but no such process found", re.I)
_REFUSED_TYPE = re.compile(r"of type '([A-Za-z]+)'")


def camunda8_files(corpus: str) -> List[Dict[str, Any]]:
    with open(os.path.join(corpus, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    out = []
    for entry in manifest:
        camunda7 = entry["camunda7_ns"] and not entry["zeebe_ns"]
        if (entry["zeebe_ns"] or entry["platform"] == "Camunda Cloud") and not camunda7:
            out.append(entry)
    return out


def oracle(corpus: str, files: List[Dict[str, Any]], node_path: Optional[str]) -> Dict[str, Dict[str, Any]]:
    """Zeebe 8.8 deployability per file, from Camunda's compatibility lint rules (cached)."""
    cache = os.path.join(corpus, "oracle-camunda-cloud-8-8.json")
    answers: Dict[str, Dict[str, Any]] = {}
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as fh:
            answers = json.load(fh)
    missing = [f["file"] for f in files if f["file"] not in answers]
    if missing:
        if not node_path:
            raise SystemExit(f"{len(missing)} files have no cached oracle answer: give --oracle-node-path")
        env = dict(os.environ, NODE_PATH=node_path)
        proc = subprocess.run(
            ["node", os.path.join(HERE, "corpus_oracle.js")],
            input=json.dumps([os.path.join(corpus, f) for f in missing]), capture_output=True, text=True,
            env=env, timeout=900, check=True)
        for line in proc.stdout.splitlines():
            result = json.loads(line)
            answers[os.path.basename(result["path"])] = result
        with open(cache, "w", encoding="utf-8") as fh:
            json.dump(answers, fh, indent=1)
    return answers


def drive(zeebe: EmbeddedZeebe, stub: gateway_pb2_grpc.GatewayStub, key: int, budget_s: float) -> Dict[str, Any]:
    """Run one instance with a generic handler until it ends or stops moving."""
    deadline = time.monotonic() + budget_s
    quiet_rounds = 0
    while time.monotonic() < deadline:
        moved = False
        keys = _instance_family(zeebe, key)
        types = {j["type"] for j in zeebe.jobs()
                 if j["process_instance_key"] in keys and j["state"] == "ACTIVATABLE"}
        for job_type in sorted(types):
            request = pb.ActivateJobsRequest(type=job_type, worker="corpus", timeout=60_000,
                                             maxJobsToActivate=64, requestTimeout=-1)
            for response in stub.ActivateJobs(request, timeout=10):
                for job in response.jobs:
                    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"), timeout=10)
                    moved = True
        for task in getattr(zeebe, "user_tasks", lambda **_: [])():
            if task.get("process_instance_key") in keys:
                zeebe.complete_user_task(task["key"])
                moved = True
        view = zeebe.process_instance(key)
        if view is None or view["state"] != "ACTIVE":
            return {"outcome": "completed" if view and view["state"] == "COMPLETED" else
                    (view or {}).get("state", "GONE").lower()}
        incidents = [i for i in zeebe.incidents() if i["process_instance_key"] in keys]
        if incidents:
            text = incidents[0]["error_message"]
            kind = "data-incident" if _DATA_INCIDENT.search(text) else "incident"
            return {"outcome": kind, "error_type": incidents[0]["error_type"], "message": text[:200]}
        quiet_rounds = 0 if moved else quiet_rounds + 1
        if quiet_rounds >= 3:
            waits = sorted({e["type"] for e in view["elements"]})
            return {"outcome": "waiting", "waits_in": waits}
        time.sleep(0.02)
    return {"outcome": "busy"}


def _instance_family(zeebe: EmbeddedZeebe, key: int) -> set:
    keys = {key}
    for view in zeebe.process_instances(include_finished=False):
        parent = view.get("parent_process_instance_key")
        if parent is not None and parent in keys:
            keys.add(view["process_instance_key"])
    return keys


def judge(corpus: str, files: List[Dict[str, Any]], answers: Dict[str, Dict[str, Any]],
          run_budget_s: float) -> List[Dict[str, Any]]:
    results = []
    with EmbeddedZeebe() as zeebe:
        channel = grpc.insecure_channel(zeebe.address)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        for entry in files:
            name = entry["file"]
            with open(os.path.join(corpus, name), "rb") as fh:
                content = fh.read()
            verdict = answers.get(name, {})
            row: Dict[str, Any] = {"file": name, "repo": entry["repo"], "path": entry["path"],
                                   "zeebe_deploys": bool(verdict.get("deployable")),
                                   "zeebe_errors": verdict.get("errors", [])[:5]}
            resource_name = os.path.basename(entry["path"])
            try:
                response = stub.DeployResource(pb.DeployResourceRequest(
                    resources=[pb.Resource(name=resource_name, content=content)]), timeout=30)
            except grpc.RpcError as exc:
                row["accepted"] = False
                row["refusal"] = exc.details() or ""
                row["refused_types"] = sorted(set(_REFUSED_TYPE.findall(row["refusal"])))
                results.append(row)
                continue
            row["accepted"] = True
            row["definitions"] = [d.process.processDefinitionKey for d in response.deployments]
            results.append(row)
        # every file is deployed before any runs, so that call activities find processes
        # deployed from other files of the same project, as they would on a real cluster
        for row in results:
            if row["accepted"]:
                row["runs"] = [run for run in (_run(zeebe, stub, key, run_budget_s)
                                               for key in row.pop("definitions")) if run is not None]
        channel.close()
    return results


def _run(zeebe: EmbeddedZeebe, stub: gateway_pb2_grpc.GatewayStub, definition: int,
         run_budget_s: float) -> Optional[Dict[str, Any]]:
    try:
        created = stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
            processDefinitionKey=definition), timeout=10)
    except grpc.RpcError as exc:
        if "none start event" in (exc.details() or ""):
            return None  # message / timer / signal started only: nothing to start by hand
        return {"outcome": "create-failed", "message": exc.details()}
    return drive(zeebe, stub, created.processInstanceKey, run_budget_s)


def _ran_well(row: Dict[str, Any]) -> bool:
    return row["accepted"] and all(r["outcome"] in ("completed", "waiting", "data-incident") for r in row["runs"])


def report(results: List[Dict[str, Any]], show_mismatches: bool) -> None:
    deployable = [r for r in results if r["zeebe_deploys"]]
    refused_by_zeebe = [r for r in results if not r["zeebe_deploys"]]
    accepted = [r for r in deployable if r["accepted"]]
    ran = [r for r in accepted if _ran_well(r)]
    wrongly_accepted = [r for r in refused_by_zeebe if r["accepted"]]
    outcomes = collections.Counter(run["outcome"] for r in accepted for run in r["runs"])
    print(f"Camunda 8 files judged:              {len(results)}")
    print(f"  Zeebe 8.8 deploys (compat rules):  {len(deployable)}")
    print(f"  Zeebe 8.8 refuses:                 {len(refused_by_zeebe)}")
    pct = 100.0 * len(accepted) / len(deployable) if deployable else 0.0
    print(f"Engine accepts of the deployable:    {len(accepted)} ({pct:.1f}%)")
    pct = 100.0 * len(ran) / len(deployable) if deployable else 0.0
    print(f"Accepted and run as Zeebe would:     {len(ran)} ({pct:.1f}% of the deployable)")
    strict = [r for r in accepted if all(run["outcome"] in ("completed", "waiting") for run in r["runs"])]
    pct = 100.0 * len(strict) / len(deployable) if deployable else 0.0
    print(f"  strictly (every run completed or waits, no incident at all): {len(strict)} ({pct:.1f}%)")
    print(f"  instance outcomes: {dict(outcomes)}")
    print(f"Accepted although Zeebe refuses:     {len(wrongly_accepted)}")
    refused = collections.Counter(t for r in deployable if not r["accepted"] for t in r["refused_types"])
    print("Refused element types (files):      " + ", ".join(f"{t} {n}" for t, n in refused.most_common(25)))
    if show_mismatches:
        print("\n-- accepted although Zeebe refuses")
        for r in wrongly_accepted:
            print(f"{r['file']}: {r['zeebe_errors'][:2]}")
        print("\n-- refused although Zeebe deploys")
        for r in deployable:
            if not r["accepted"]:
                print(f"{r['file']}: {r['refusal'][:300]!r}")
        print("\n-- accepted, not run as Zeebe would")
        for r in accepted:
            if not _ran_well(r):
                print(f"{r['file']}: {[run for run in r['runs'] if run['outcome'] not in ('completed', 'waiting')]}")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.environ.get("ZAS_BPMN_CORPUS", "/work/corpus/bpmn"))
    parser.add_argument("--oracle-node-path", default=os.environ.get("ZAS_ORACLE_NODE_PATH"))
    parser.add_argument("--run-budget", type=float, default=3.0, help="seconds per instance")
    parser.add_argument("--json", help="write every row to this file")
    parser.add_argument("--show-mismatches", action="store_true")
    parser.add_argument("--only", help="judge only files whose name contains this text")
    args = parser.parse_args(argv)
    files = camunda8_files(args.corpus)
    if args.only:
        files = [f for f in files if args.only in f["file"]]
    answers = oracle(args.corpus, files, args.oracle_node_path)
    started = time.monotonic()
    results = judge(args.corpus, files, answers, args.run_budget)
    report(results, args.show_mismatches)
    print(f"({time.monotonic() - started:.1f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
