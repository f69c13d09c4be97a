#!/usr/bin/env python3
"""A plain TCP relay on loopback: tcprelay.py PORT HOST:PORT.

Accepts on 127.0.0.1:PORT and copies bytes both ways to HOST:PORT. Killing
it closes every connection at once and frees the port (SO_REUSEADDR), so a
test can cut one client off a server (an etcd member) and later let it back
on the same address, without stopping the server for the others."""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def main():
    port = int(sys.argv[1])
    host, tport = sys.argv[2].rsplit(":", 1)

    async def handle(creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection(host, int(tport))
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, uwriter), pipe(ureader, cwriter))

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: tcprelay.py PORT HOST:PORT")
    asyncio.run(main())
