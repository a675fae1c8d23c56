"""What every call to a remote model shares, whatever the endpoint (chat, audio, embeddings).

* :mod:`~indexers.remote.http`: :class:`~indexers.remote.http.RemoteHttp`, one provider's
  connection: the retry loop (backoff, jitter, ``Retry-After``), the key header, reading under
  the guard, redaction of everything sent back;
* :mod:`~indexers.remote.errors`: HTTP statuses and Z.AI business codes mapped to
  :mod:`videoidx.errors`, with advice;
* :mod:`~indexers.remote.guard`: the overall request deadline and cancel, down to the socket;
* :mod:`~indexers.remote.redact`: blanking API keys out of provider text;
* :mod:`~indexers.remote.trust`: where a key may be sent (a profile's own ``https`` endpoint or
  an operator-allowed base URL).

The adapters on top (``indexers.glm.client`` for chat completions, ``indexers.transcribers.remote``
for ``audio/transcriptions``) add only their body shapes and answer parsing.
"""
