"""The functional core: labels, matchers, events and the group lifecycle decider.

Pure code only: no I/O, no trio, no clock. Every decision takes `now` as an argument.
"""
