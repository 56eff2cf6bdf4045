"""A new profile from just an email address: where its mail is sent, found and tested.

providers.py is the table of well-known providers (data); autoconfig.py Thunderbird's
autoconfig and ISPDB; records.py SRV and MX; probe.py the live test of a candidate server;
finder.py puts them in order and says where each setting came from; reach.py is what they
may talk to (the DNS server, ports and trust anchors tests point at loopback).
"""
