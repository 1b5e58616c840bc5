"""Endpoints that hold requests in flight, shared by the FastAPI fixtures.

add_load_endpoints(app) adds /sleep?s=N, /slow?seconds=N and
/stream?seconds=N (server-sent events, one a second, then a done event).
"""
import asyncio
import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse


def add_load_endpoints(app: FastAPI):
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
