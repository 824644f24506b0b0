"""On-site service (上门服务): a visit of its own, from a ticket the phone could not solve or from the
service plan's maintenance visits — appointment, departure, arrival, the checklist, the result, the customer's
confirmation and the report filed in the archive."""
