"""What the machine does while a run trains: GPUs (:mod:`.nvml`), host and process
(:mod:`.sampler`, through psutil), sampled by a thread of its own into the run's
``system.jsonl``."""
