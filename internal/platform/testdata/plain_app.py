# A FastAPI app with no SIGTERM handling of its own: no lifespan, /ready
# always 200. Only uvicorn's default shutdown stands between it and
# dropped requests.
import asyncio
import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


@app.get("/ready")
async def ready():
    return {"status": "ready"}


@app.post("/hello")
def hello():
    return {"message": "Hello Cerebrium!"}


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
