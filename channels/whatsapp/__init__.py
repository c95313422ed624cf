"""WhatsApp Cloud API (Meta) channel for Rasa 3.6; setup and behaviour in docs/whatsapp.md.

Registered in credentials.yml as ``channels.whatsapp.WhatsAppInput``. One job a
module (the list: docs/whatsapp.md, "Where the code is"); the retry rule of
its Graph API sends is clinic_bot/http_retry.py, the numbers
``WhatsAppConfig.retry_policy``.
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
