#!/usr/bin/env bash
# The GPU check that the test suite cannot do: on an NVIDIA host with Docker and the NVIDIA
# container toolkit, build the built-in `pytorch-cuda` environment, start a runtime with one GPU
# through a real jupyter-nj server (this repository's code), run a CUDA matmul in it, show the
# inventory's allocation, leave the runtime idle and show it culled.
#   scripts/gpu-check.sh            (from the repository root, with jupyter-nj installed)
# Environment: PYTHON (default: python3), NJ_GPU_CHECK_PORT (8940), NJ_GPU_IDLE (idle timeout,
# seconds, 60), KEEP=1 keeps the work folder. Exit 0: passed; 1: a step failed; 2: this host
# cannot run the check (what is missing is printed). Writes nothing outside a temporary folder
# except images in the Docker engine.
set -euo pipefail

PYTHON=${PYTHON:-python3}
PORT=${NJ_GPU_CHECK_PORT:-8940}
IDLE=${NJ_GPU_IDLE:-60}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# This checkout's jupyter_nj and its built-in environment definitions, before any installed one.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

say() { printf 'gpu-check: %s\n' "$*" >&2; }
cannot() {
  say "cannot run here: $*"
  exit 2
}
fail() {
  say "FAILED: $*"
  exit 1
}
# `jupyter nj ...` of this Python.
nj() { "$PYTHON" -c 'import sys; from jupyter_nj.cli import main; sys.exit(main())' "$@"; }

# -- what the host must have -------------------------------------------------------------------
command -v nvidia-smi >/dev/null || cannot "no nvidia-smi: this host has no NVIDIA driver (install it first)."
nvidia-smi -L >/dev/null 2>&1 || cannot "nvidia-smi finds no GPU or no driver: $(nvidia-smi -L 2>&1 | head -1)"
command -v docker >/dev/null || cannot "no docker command: install Docker Engine."
docker info >/dev/null 2>&1 || cannot "the Docker engine does not answer (start dockerd)."
if ! docker info --format '{{json .Runtimes}}' | grep -q nvidia; then
  cannot "the Docker engine has no nvidia runtime: install the NVIDIA container toolkit and run
  'sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker' (docs/gpus.md)."
fi
"$PYTHON" -c 'import jupyter_nj, pynvml' 2>/dev/null \
  || cannot "$PYTHON cannot import jupyter_nj and pynvml: pip install -e . (nvidia-ml-py comes with it)."
"$PYTHON" -c 'import pynvml; pynvml.nvmlInit(); assert pynvml.nvmlDeviceGetCount() > 0' 2>/dev/null \
  || cannot "NVML (nvidia-ml-py) finds no GPU from $PYTHON."
command -v curl >/dev/null || cannot "no curl."
say "host: $(nvidia-smi -L | head -1); $(docker version --format 'Docker {{.Server.Version}}')"

# -- a server of its own, in a temporary root ----------------------------------------------------
WORK=$(mktemp -d /tmp/nj-gpu-check-XXXXXX)
ROOT="$WORK/root"
mkdir -p "$ROOT" "$WORK/config" "$WORK/data"
export JUPYTER_CONFIG_DIR="$WORK/config" JUPYTER_DATA_DIR="$WORK/data" JUPYTER_PREFER_ENV_PATH=0
TOKEN=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  # Kernel containers of this check's catalog only.
  docker ps -aq --filter "label=org.jupyter-nj.catalog=$WORK/data/nj/environments" 2>/dev/null \
    | xargs -r docker rm -f >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then chown 1000:100 "$ROOT"; fi

cat >"$WORK/config/jupyter_server_config.json" <<EOF
{
  "NJApp": {
    "nj_dir": "$WORK/data/nj",
    "runtime_backend": "docker",
    "runtime_memory_limit": "16g",
    "build_wheelhouse": "",
    "gpu_idle_timeout": $IDLE,
    "gpu_cull_warning": 15,
    "gpu_cull_interval": 5
  }
}
EOF

say "building the base images and pytorch-cuda on Docker (several GB the first time)"
(cd "$ROOT" && nj env bootstrap) || fail "bootstrap failed"
(cd "$ROOT" && nj env build pytorch-cuda --backend docker) || fail "build failed"

"$PYTHON" -m jupyter server --ServerApp.root_dir="$ROOT" --ServerApp.port="$PORT" \
  --ServerApp.port_retries=0 --IdentityProvider.token="$TOKEN" --ServerApp.open_browser=False \
  --ServerApp.allow_root=True >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
api() { curl -fsS -H "Authorization: token $TOKEN" "$@"; }
for _ in $(seq 1 60); do
  api "$BASE/nj/api/status" >/dev/null 2>&1 && break
  sleep 1
done
api "$BASE/nj/api/status" >/dev/null || { tail -30 "$WORK/server.log" >&2; fail "the server did not start"; }

# -- a runtime with one GPU, a CUDA matmul, the allocation, the cull ---------------------------
export BASE TOKEN IDLE
"$PYTHON" - <<'EOF' || fail "see above"
import asyncio, json, os, sys, time, uuid
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

BASE, TOKEN, IDLE = os.environ["BASE"], os.environ["TOKEN"], float(os.environ["IDLE"])
HEADERS = {"Authorization": f"token {TOKEN}"}
http = AsyncHTTPClient()

async def call(method, path, body=None, ok=True):
    request = HTTPRequest(BASE + path, method=method, headers=HEADERS, request_timeout=600,
                          body=None if body is None else json.dumps(body))
    response = await http.fetch(request, raise_error=ok)
    return response.code, (json.loads(response.body) if response.body else None)

async def run(kernel_id, code):
    ws = await websocket_connect(HTTPRequest(
        BASE.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels", headers=HEADERS))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "channel": "shell", "buffers": [], "metadata": {}, "parent_header": {},
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex,
                   "username": "gpu-check", "version": "5.3", "date": ""},
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    out, status = [], None
    while status is None:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 600))
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append("\n".join(content["traceback"]))
        elif kind == "execute_reply":
            status = content["status"]
    ws.close()
    return status, "".join(out)

async def main():
    notebook = {"type": "notebook", "format": "json", "content": {
        "nbformat": 4, "nbformat_minor": 5, "cells": [],
        "metadata": {"kernelspec": {"name": "nj-pytorch-cuda", "display_name": "PyTorch (CUDA)",
                                    "language": "python"},
                     "nj": {"runtimes": {"main": {"environment": "pytorch-cuda",
                                                  "backend": "docker", "gpus": 1}}}}}}
    await call("PUT", "/api/contents/gpu.ipynb", notebook)
    _, session = await call("POST", "/api/sessions", {
        "path": "gpu.ipynb", "type": "notebook", "kernel": {"name": "nj-pytorch-cuda"}})
    kernel_id = session["kernel"]["id"]
    print(f"gpu-check: runtime started, kernel {kernel_id}")
    status, out = await run(kernel_id, "\n".join([
        "import torch",
        "assert torch.cuda.is_available(), 'torch sees no GPU'",
        "a = torch.randn(4096, 4096, device='cuda')",
        "b = (a @ a).sum().item()",
        "torch.cuda.synchronize()",
        "print('matmul ok on', torch.cuda.get_device_name(0), 'sum', round(b, 1))",
    ]))
    print(out.strip())
    if status != "ok" or "matmul ok" not in out:
        sys.exit("gpu-check: FAILED: the CUDA matmul did not run")
    _, info = await call("GET", f"/nj/api/runtimes/{kernel_id}")
    print("gpu-check: runtime GPUs:", json.dumps(info["gpus"]))
    _, inventory = await call("GET", "/nj/api/gpus")
    print("gpu-check: inventory:", json.dumps(inventory, indent=1))
    held = [g for g in inventory["gpus"] if (g["allocated_to"] or {}).get("kernel_id") == kernel_id]
    if len(held) != 1 or held[0]["uuid"] not in info["gpus"]["allocated"]:
        sys.exit("gpu-check: FAILED: the inventory does not show the runtime's GPU")
    print(f"gpu-check: leaving the runtime idle (NJApp.gpu_idle_timeout = {IDLE:g} s)")
    started = time.monotonic()
    while time.monotonic() - started < IDLE + 120:
        code, _ = await call("GET", f"/api/kernels/{kernel_id}", ok=False)
        if code == 404:
            break
        await asyncio.sleep(5)
    else:
        sys.exit("gpu-check: FAILED: the idle GPU runtime was not culled")
    print(f"gpu-check: culled after {time.monotonic() - started:.0f} s idle")
    _, inventory = await call("GET", "/nj/api/gpus")
    if any((g["allocated_to"] or {}).get("kernel_id") == kernel_id for g in inventory["gpus"]):
        sys.exit("gpu-check: FAILED: the culled runtime still holds its GPU")
    print("gpu-check: its GPU is free again")

asyncio.run(main())
EOF
grep -h "runtime-culled" "$WORK/server.log" | tail -1 >&2 || true
say "PASSED"
