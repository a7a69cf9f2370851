"""The OpenAI-compatible front door (`/v1`): translators from OpenAI's wire to the inference use cases."""
