"""Placeholder; being written."""


class DeliveryEngine:
    def __init__(self, store, clock, http_client, config):
        self.store = store

    def start(self):
        pass

    def stop(self, timeout=5.0):
        pass

    def wake(self):
        pass
