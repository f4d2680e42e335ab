"""Keeps the test peers on loopback.

Python imports this module at start-up when its folder is on PYTHONPATH, as the test support
puts it for keri's witnesses and the vLEI server. Both bind their listening sockets to every
interface and take no host option; this narrows a bind to the wildcard address down to the
loopback address of the same family, so nothing they serve is reachable from outside.
"""

import socket

_WILDCARDS = {socket.AF_INET: ("", "0.0.0.0"), socket.AF_INET6: ("", "::")}
_LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
_bind = socket.socket.bind


def _loopback_bind(sock, address):
    if isinstance(address, tuple) and address and address[0] in _WILDCARDS.get(sock.family, ()):
        address = (_LOOPBACK[sock.family], *address[1:])
    return _bind(sock, address)


socket.socket.bind = _loopback_bind
