"""An SMTP server's handler for the mail tests, run by aiosmtpd (Debian's python3-aiosmtpd):

    /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c sink.Sink DIRECTORY

Each message it accepts is written whole to DIRECTORY as a .eml file (renamed into place, so a
reader never sees half of one). A recipient whose address starts with "reject" is refused with
a permanent 550, as a real server refuses an unknown mailbox.
"""

import os
import time


class Sink:
    def __init__(self, directory):
        self.directory = directory

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink takes one argument: the directory to write messages to")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: no such mailbox here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.directory, "%d.eml" % time.time_ns())
        with open(name + ".part", "wb") as file:
            file.write(envelope.original_content or envelope.content)
        os.rename(name + ".part", name)
        return "250 Message accepted for delivery"
