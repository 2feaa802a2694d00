"""An SMTP server for suzanne-ack's STARTTLS and AUTH tests (aiosmtpd).

usage: tls_sink.py CERT KEY DIR PORT

Listens on 127.0.0.1:PORT only, offers STARTTLS with CERT/KEY and
requires it, accepts AUTH PLAIN/LOGIN for suzanne/secret only, and
writes each message to DIR/N.eml after two lines: X-Mail-From (the
envelope sender) and X-TLS (whether the session was encrypted). Prints
"ready" when listening; exits when its stdin closes, or after 300 s.
"""

import itertools
import logging
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.count)
        head = "X-Mail-From: %s\nX-TLS: %s\n" % (
            envelope.mail_from, session.ssl is not None)
        with open("%s/%d.eml" % (self.directory, n), "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        return "250 2.0.0 Ok: queued"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login == b"suzanne"
          and auth_data.password == b"secret")
    # handled=False: aiosmtpd sends the 535 reply itself.
    return AuthResult(success=ok, handled=False)


def main():
    # A refused handshake is part of the test, not news.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    cert, key, directory, port = sys.argv[1:5]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Handler(directory), hostname="127.0.0.1", port=int(port),
        tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_require_tls=True)
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    threading.Thread(
        target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(300)
    controller.stop()


if __name__ == "__main__":
    main()
