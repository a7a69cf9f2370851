"""Handlers: parse → call one use case → shape the reply."""
