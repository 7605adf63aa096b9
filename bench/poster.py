"""CPU per fan-out post, side by side: boto3's `post_to_connection`, the signed poster through a urllib3
PoolManager (its first version), and the signed poster as it is (one endpoint's connection pool, used directly).

    python -m bench.poster [--posts 3000] [--repeat 3]

A bare aiohttp server in a child process answers `POST /api/@connections/{id}` with 200 over plain HTTP with
keep-alive, so what is measured is the posting process's own CPU (`time.process_time`) per post, one thread;
the best of `--repeat` rounds is kept. The same code posts to API Gateway on AWS.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from urllib.parse import quote

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from chalicelib.adapters.connection_poster import SignedConnectionPoster
from tests.ports import free_port

SERVER = """
import sys
from aiohttp import web
async def post(request):
    await request.read()
    return web.Response(status=200)
app = web.Application()
app.router.add_post("/api/@connections/{id}", post)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
REGION = "us-east-1"
CREDENTIALS = Credentials("AKIDBENCH", "secret-for-the-benchmark")
DATA = b'{"action":"op","workspace":"ws-demo","op":{"seq":1,"kind":"chat","data":{"text":"' + b"x" * 200 + b'"}}}'


def pool_manager_poster(endpoint: str) -> Callable[[str], None]:
    """The first version of SignedConnectionPoster.post: the same signing, a PoolManager picking the pool."""
    pool = urllib3.PoolManager(maxsize=4, retries=False)

    def post(connection_id: str) -> None:
        url = f"{endpoint}/@connections/{quote(connection_id, safe='')}"
        request = AWSRequest(method="POST", url=url, data=DATA)
        SigV4Auth(CREDENTIALS.get_frozen_credentials(), "execute-api", REGION).add_auth(request)
        assert pool.request("POST", url, body=DATA, headers=dict(request.headers.items())).status == 200

    return post


def contenders(endpoint: str) -> dict[str, Callable[[str], None]]:
    client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=CREDENTIALS.access_key, aws_secret_access_key=CREDENTIALS.secret_key,
                          config=Config(parameter_validation=False, retries={"mode": "standard"}))
    poster = SignedConnectionPoster(endpoint, CREDENTIALS, REGION, None, pool_size=4)

    def boto3_post(connection_id: str) -> None:
        client.post_to_connection(ConnectionId=connection_id, Data=DATA)

    return {
        "boto3 post_to_connection": boto3_post,
        "signed poster, PoolManager": pool_manager_poster(endpoint),
        "signed poster (as shipped)": lambda c: poster.post(c, DATA),
    }


def cpu_per_post_us(post: Callable[[str], None], posts: int) -> float:
    started = time.process_time()
    for n in range(posts):
        post(f"conn{n % 50:03d}=")
    return (time.process_time() - started) / posts * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        endpoint = f"http://127.0.0.1:{port}/api"
        posts = contenders(endpoint)
        deadline = time.time() + 20
        while True:  # until the server answers
            try:
                posts["signed poster (as shipped)"]("warmup=")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        best: dict[str, float] = {}
        for _ in range(args.repeat):  # interleaved, so drift touches every contender alike
            for name, post in posts.items():
                post("warmup=")
                best[name] = min(best.get(name, float("inf")), cpu_per_post_us(post, args.posts))
    finally:
        server.terminate()
        server.wait()
    shipped = best["signed poster (as shipped)"]
    print(f"\nCPU per post, one thread, best of {args.repeat} x {args.posts} posts to a bare local server")
    print("| contender | us of CPU a post | x shipped |")
    print("|---|---:|---:|")
    for name, us in best.items():
        print(f"| {name} | {us:.0f} | {us / shipped:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
