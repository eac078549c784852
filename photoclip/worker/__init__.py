"""The background worker: watching the library's folders, one warm model, a local socket.

    runtime.py   where the socket and the status file live, and the owner-only checks
    protocol.py  the queries a client may ask, run the same way in-process and in the worker
    client.py    ask a running worker; None means "answer it yourself"
    server.py    the socket server: one request, one answer, same-user peers only
    models.py    the model kept loaded while there is work, dropped after an idle time
    watcher.py   file notifications (watchdog), debounced, or a periodic rescan where they fail
    status.py    the worker lock and the status the worker publishes (`photoclip status`)
    service.py   the per-user service file (systemd user unit, or XDG autostart)
    daemon.py    `photoclip watch`: all of the above together

Never imports Qt: the app runs the same worker in a thread of its own.
"""
