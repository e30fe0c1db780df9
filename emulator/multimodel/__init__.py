"""Multi-model endpoints: the platform's side of SageMaker's model-management contract (developer guide,
mms-container-apis). On an invocation naming `TargetModel`, the artifact below the endpoint's prefix is
fetched and unpacked once into /opt/ml/models/<name>/model, loaded with `POST /models`, invoked with
`POST /models/<name>/invoke`, and the least recently used models are unloaded (`DELETE /models/<name>`)
when the budget of loaded models is exceeded or the container answers 507.

Design: one `ModelManager` per multi-model container lives in the OWNER process (the one that owns the
containers), so its loaded set, LRU order and per-model load locks exist once. The front's worker processes
ask it over the owner's internal server (one local call per invocation, `owner_routes`), then invoke the
container themselves; the bodies never pass through the owner. Concurrent first requests for one model,
from any worker, wait on the same lock and load it once.
"""
