"""Long-term memory construction: summaries, structured facts, reflection and SFT export, run as jobs.

Attach to a store with `await Construction.attach(core, client)`; jobs are planned from the record
log and run inline (`await core.process()`) or by a worker (`omne worker`).
"""

from omne.construction.consolidate import Consolidated, Consolidator
from omne.construction.facts import FactExtractor, extraction_model
from omne.construction.jobs import Backoff, Job, JobQueue, JobSpec, JobStatus
from omne.construction.pipeline import Construction, ConstructionConfig, JobOutcome, ProcessReport
from omne.construction.processors import PermanentJobError, Processor
from omne.construction.reflection import recall_insights, reflect
from omne.construction.sft import export_sft
from omne.construction.structured import (
    StructuredCallConfig, StructuredOutputError, StructuredReply, extract_json_object, schema_hint,
    schema_instructions, structured_call, structured_reply,
)
from omne.construction.summarisers import ExtractiveSummariser, ModelSummariser, Summariser, SummaryItem
from omne.construction.summaries import SummaryBuilder
from omne.construction.worker import run_worker, worker_task

__all__ = [
    "Backoff", "Consolidated", "Consolidator", "Construction", "ConstructionConfig", "ExtractiveSummariser",
    "FactExtractor", "Job", "JobOutcome", "JobQueue", "JobSpec", "JobStatus", "ModelSummariser", "PermanentJobError",
    "ProcessReport", "Processor", "StructuredCallConfig", "StructuredOutputError", "StructuredReply", "Summariser",
    "SummaryBuilder", "SummaryItem", "export_sft", "extract_json_object", "extraction_model", "recall_insights",
    "reflect", "run_worker", "schema_hint", "schema_instructions", "structured_call", "structured_reply",
    "worker_task",
]
