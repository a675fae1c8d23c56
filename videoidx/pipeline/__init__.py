"""The indexing job: probe -> plan -> sample -> (cut) -> analyse -> consolidate -> store.

``index_video`` (``run``) and ``index_many`` (``bulk``) are the public entry points used by the
CLI, the web page and the notebook; both drive the one engine (``batch``), which schedules the
steps of ``steps`` (per clip, per video) for each video's ``job``. The slow, paid step
(analyse) runs concurrently under a limit while media work for later clips continues, and each
clip is stored the moment it finishes, so a crash loses nothing that was paid for and a re-run
resumes from the cache.
"""
