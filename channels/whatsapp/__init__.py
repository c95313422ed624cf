"""WhatsApp Cloud API (Meta) channel for Rasa 3.6; setup and behaviour in docs/whatsapp.md.

Registered in credentials.yml as ``channels.whatsapp.WhatsAppInput``. One job a module:

* ``config`` — settings (secrets from the environment only), Graph API version, retry policy
* ``input_channel`` — the webhook: handshake, signature and size checks, fast 200, background handling
* ``notifications`` — Meta's notification JSON read into messages to answer
* ``processed_messages`` — exactly-once answers across redeliveries and restarts
* ``output_channel`` — Rasa responses as WhatsApp messages (text, buttons, lists)
* ``interactive`` — reply buttons and list messages within WhatsApp's limits
* ``text_splitting`` — long text split at paragraph and sentence ends
* ``graph_client`` — one send to the Graph API, retried (clinic_bot/http_retry.py), failures recorded
* ``delivery_records`` — failed sends and `failed` statuses recorded for staff
* ``privacy`` — phone numbers and message ids masked in logs

The urgency marker it shares with the Twilio channel is channels/urgency_marker.py.
"""
from channels.whatsapp.config import DEFAULT_GRAPH_VERSION, GRAPH_VERSION_END_OF_SUPPORT, UNSUPPORTED_REPLY, WhatsAppConfig
from channels.whatsapp.graph_client import GraphClient
from channels.whatsapp.input_channel import WhatsAppInput
from channels.whatsapp.output_channel import WhatsAppOutput
from channels.whatsapp.processed_messages import ProcessedMessageStore

__all__ = [
    "DEFAULT_GRAPH_VERSION",
    "GRAPH_VERSION_END_OF_SUPPORT",
    "UNSUPPORTED_REPLY",
    "GraphClient",
    "ProcessedMessageStore",
    "WhatsAppConfig",
    "WhatsAppInput",
    "WhatsAppOutput",
]
