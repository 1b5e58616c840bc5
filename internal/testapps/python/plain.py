"""A FastAPI app with no SIGTERM handling of its own (test fixture).

No lifespan, and /ready always answers 200: only uvicorn's default shutdown
stands between it and dropped requests.

Run: /usr/bin/python3 -m uvicorn plain:app --app-dir DIR --port 8000
Endpoints: /hello (GET or POST), /ready, /max (the peak number of requests
in flight, /max and /ready not counted), and from load_endpoints.py
/sleep?s=2, /slow?seconds=2 and /stream?seconds=2 (server-sent events).
"""
from fastapi import FastAPI

from load_endpoints import add_load_endpoints

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


add_load_endpoints(app)


@app.get("/max")
async def peak():
    return state["peak"]
