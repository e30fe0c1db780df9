"""The Python API for tests and notebooks: an emulator that answers the SageMaker control plane and the
runtime, optionally preloaded with the endpoints of a definition.

    with Emulator("pipeline.yaml") as emulator:
        result = emulator["penguins"].invoke(b"Torgersen,39.1,18.7,181,3750,male", content_type="text/csv")
        print(result.body, [hop.container for hop in result.hops])

    with Emulator() as emulator:                      # empty: deploy through the API, as a script would
        with emulator.redirected():                   # AWS_ENDPOINT_URL etc. point at it
            run_my_deploy_script()
"""

from emulator.hosting.emulator import Emulator, Source, definitions_of

__all__ = ["Emulator", "Source", "definitions_of"]
