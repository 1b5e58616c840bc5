"""A FastAPI app with no SIGTERM handling of its own (test fixture).

No lifespan, and /ready always answers 200: only uvicorn's default shutdown
stands between it and dropped requests.

Run: /usr/bin/python3 -m uvicorn plain:app --app-dir DIR --port 8000
Endpoints: /hello (GET or POST), /ready, /sleep?s=2, /slow?seconds=2,
/stream?seconds=2 (server-sent events, one a second, then a done event) and
/max (the peak number of requests in flight, /max and /ready not counted).
"""
import asyncio
import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
state = {"cur": 0, "peak": 0}


@app.middleware("http")
async def count(request, call_next):
    if request.url.path in ("/max", "/ready"):
        return await call_next(request)
    state["cur"] += 1
    state["peak"] = max(state["peak"], state["cur"])
    try:
        return await call_next(request)
    finally:
        state["cur"] -= 1


@app.api_route("/hello", methods=["GET", "POST"])
async def hello():
    return {"message": "Hello Cerebrium!"}


@app.get("/ready")
async def ready():
    return {"status": "ready"}


@app.get("/sleep")
async def sleep(s: float = 1.0):
    await asyncio.sleep(s)
    return {"slept": s}


@app.get("/slow")
async def slow(seconds: float = 1.0):
    await asyncio.sleep(seconds)
    return {"slept_seconds": seconds, "pid": os.getpid()}


@app.get("/stream")
async def stream(seconds: float = 2.0):
    async def events():
        n = int(seconds)
        for i in range(1, n + 1):
            await asyncio.sleep(1)
            yield 'event: tick\ndata: {"n":%d}\n\n' % i
        yield 'event: done\ndata: {"events":%d}\n\n' % n

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/max")
async def peak():
    return state["peak"]
