"""Where each speaker sends data: destination names and bytes per speaker and per activation, and per-speaker blocks.

organisations.py, presets.py  the sourced tables in resources/destinations
bpf.py, capture.py            the observer: AF_PACKET on the speaker-facing interface, kernel filter
parse.py                      DNS answers and ClientHellos read with dpkt
namebook.py                   address -> name and flow -> server name, per speaker
blocks.py                     what a block covers
repository.py                 the store's destination tables
tracker.py                    ties it together (see its docstring for the data flow)
simulated.py                  synthetic destinations for --simulate
"""
