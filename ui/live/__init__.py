"""The Live page's pieces: Qt-free buffers and series (`buffers`, `series`) and the pyqtgraph widgets drawn from them.

Data arrives in batches (the bridge adapter's coalesced samples, the desktop microphone's readings)
and is written into fixed-size numpy buffers; a timer pulls contiguous views from them at most ten
times a second and hands them to curves that already exist. Nothing grows with time: the live rings
hold ten minutes, the history cache at most 24 hours in ten-minute chunks.
"""
