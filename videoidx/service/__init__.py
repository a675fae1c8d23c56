"""The serving process's parts that are not the page: the one job queue, the HTTP API, the
record that lets other processes find the server, and which server paths a client may index."""
