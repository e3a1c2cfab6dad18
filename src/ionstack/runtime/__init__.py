"""The job runtime: the processes that run jobs (``ionstack worker``, and the worker pool of
``ionstack serve``).

What runs where (design.md, "the path of one job", steps 4–7):

- :mod:`.queue` — the jobs table as a queue: a worker **claims** the next ``ready`` job
  (session jobs first, then submission order), holds it under a **lease** that a heartbeat
  extends, and **stores** its results conditioned on still holding the lease, so a job completes
  exactly once; expired leases are requeued (or failed after ``IONSTACK_MAX_ATTEMPTS``).
  **Wake-ups** tell sleeping workers that a job was submitted (PostgreSQL ``LISTEN/NOTIFY``;
  SQLite: datagrams on Unix sockets beside the database file), with a slow poll as a fallback.
- :mod:`.worker` — one worker process: claim → run on the quantum core → store, with cancel,
  time-limit and shutdown checks between units of work.
- :mod:`.workloads` — how a claimed ``quantum-function`` or ``qctrl.qaoa.v1`` job runs.
- :mod:`.supervisor` — the **worker pool** that ``ionstack serve`` starts beside the API and
  restarts when one dies.

Imports go downward only: ``runtime`` uses ``service``, ``quantum`` and ``store``; nothing of
the API server (``ionstack.api``) and nothing of the user's HTTP client (``ionstack.client``).
"""
