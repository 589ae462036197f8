"""An SMTP server for the delivery checks (run.sh), with aiosmtpd: stores every message it
receives as a file in --dir (envelope recipients in the first line), and writes its port to
--port-file."""

import argparse
import os
import socket
import threading

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--port-file", required=True)
args = parser.parse_args()


class Keep:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(args.dir, f"{self.n:03}.eml")
        with open(path, "wb") as f:
            f.write((" ".join(envelope.rcpt_tos) + "\n").encode())
            f.write(envelope.content)
        return "250 Message accepted"


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
controller = Controller(Keep(), hostname="127.0.0.1", port=port)
controller.start()
with open(args.port_file, "w", encoding="utf-8") as f:
    f.write(str(port))
threading.Event().wait()
