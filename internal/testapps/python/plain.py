"""A FastAPI app with no SIGTERM handling of its own (test fixture).

Run: /usr/bin/python3 -m uvicorn plain:app --app-dir DIR --port 8000
Endpoints: /hello, /ready, /sleep?s=2 (async), /max (peak concurrency).
"""
import asyncio

from fastapi import FastAPI

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


@app.get("/hello")
async def hello():
    return {"message": "Hello Cerebrium!"}


@app.get("/ready")
async def ready():
    return {"status": "ready"}


@app.get("/sleep")
async def sleep(s: float = 1.0):
    await asyncio.sleep(s)
    return {"slept": s}


@app.get("/max")
async def peak():
    return state["peak"]
