"""Asynchronous inference (InvokeEndpointAsync): requests accepted into a durable queue in the state
database, run by a pool of workers in the owner process, answered by objects in S3.

`requests` says what one request is and where its answer goes; `queue` keeps them (SQLite, so a restart
loses none); `invocation` runs one (S3 in, the chain, S3 out); `workers` runs several at a time per endpoint,
`slots` and `invoker` let at most MaxConcurrentInvocationsPerInstance of them call the containers at once (and
record each call in the request log); `service` ties them to the endpoints' state (emulator.control.endpoint_states).
"""
