"""Service levels (服务时限): the standard's promises with a time limit, kept by clocks.

An area declares its clocks in the kernel (`Clock`: key, title, the policy field of its limit, its unit)
and starts and stops them as its work happens (`portal.sla.clocks`). This area keeps every clock as a row
(`ServiceClock`), so the running ones can be swept (a reminder before the limit, an escalation past it,
each once) and the finished ones measured (the share kept, per department, engineer and level).
It imports no other area: each row carries who owns it and whom to tell.
"""
