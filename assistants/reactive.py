"""ReactiveResponder: analyse, plan, act step by step, check progress, re-plan on stalls, answer in format.

One turn (Magentic-One style, inside a single agent so it joins any team):

1. analyse the task into a FactsLedger (given / to look up / to derive / educated guesses), with
   past experience retrieved from memory;
2. `plan()` a list of steps;
3. loop, one round each: a ProgressLedger check (done? looping? progressing? next speaker and
   instruction); a stall (looping or not progressing) counts up, progress counts down; at
   `max_stalls` the facts are updated and the plan rewritten (at most `max_replans` times); otherwise
   the next speaker acts: this responder with its tools, or a member agent it delegates to;
4. stop when satisfied, or at the round, time or token budget;
5. ask for the final answer in the required format, reflect, and record ledgers, trajectory and the
   reflection (an INSIGHT linked to the trajectory) in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import ChatAgent, Response
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, ModelClientStreamingChunkEvent, TextMessage, ThoughtEvent
from autogen_core import CancellationToken
from autogen_core.models import AssistantMessage, ChatCompletionClient, CreateResult, LLMMessage, SystemMessage, UserMessage
from pydantic import BaseModel

from assistants import prompts
from assistants.budget import RunState
from assistants.ledgers import FactsLedger, Plan, ProgressLedger, Reflection
from assistants.memory_policy import Recollection
from assistants.responder import FinalReply, Responder, ResponderConfig
from assistants.results import Step, StepKind, StopReason, TokenUsage
from assistants.tool_loop import LoopOutcome, run_tool_loop
from omne.construction.structured import StructuredCallConfig, StructuredOutputError, structured_reply
from omne.errors import InvalidInputError
from omne.types import Edge, EdgeKind, Record, RecordKind


class ReactiveResponder(Responder):
    """Plans multi-step tasks, executes them with tools or team members, and learns from each run."""

    component_provider_override = "assistants.ReactiveResponder"
    default_system_prompt = ("You are a careful problem solver. You work step by step, check facts with tools, "
                             "and say plainly when something failed.")

    def __init__(self, name: str, model_client: ChatCompletionClient, *, members: Sequence[ChatAgent] = (),
                 **kwargs: Any) -> None:
        super().__init__(name, model_client, **kwargs)
        self.members = {m.name: m for m in members}
        if name in self.members or len(self.members) != len(members):
            raise InvalidInputError("member names must be unique and differ from the responder's name")

    # -- hooks (override any) ---------------------------------------------------------------------
    def team_roster(self) -> list[tuple[str, str]]:
        """Who can act: this responder (with its tools) and each member agent."""
        tools = ", ".join(t.name for t in self.tools()) or "no tools"
        return [(self.name, f"this responder; tools: {tools}"),
                *((m.name, m.description) for m in self.members.values())]

    async def analyse(self, task: str, recollections: Sequence[Recollection], state: RunState,
                      cancellation_token: CancellationToken) -> FactsLedger:
        """The facts survey. On a reply that stays invalid after repairs, an empty ledger (the step is marked)."""
        prompt = prompts.facts(task, self.render_recollections(recollections), prompts.roster(self.team_roster()))
        return await self._ledger("analysis", FactsLedger, prompt, state, cancellation_token, FactsLedger())

    async def plan(self, task: str, facts: FactsLedger, state: RunState,
                   cancellation_token: CancellationToken) -> Plan | None:
        """A plan from the model; None (answer directly) when it cannot produce a valid one."""
        history = prompts.render_trajectory(state.trajectory) if state.rounds else ""
        prompt = prompts.plan(task, facts, prompts.roster(self.team_roster()), history)
        return await self._ledger("plan", Plan, prompt, state, cancellation_token, None)

    async def update_facts(self, task: str, facts: FactsLedger, state: RunState,
                           cancellation_token: CancellationToken) -> FactsLedger:
        """Revised facts before a re-plan (the old ledger is kept if the reply is unusable)."""
        prompt = prompts.update_facts(task, facts, prompts.render_trajectory(state.trajectory))
        return await self._ledger("replan", FactsLedger, prompt, state, cancellation_token, facts)

    async def check_progress(self, task: str, plan: Plan, state: RunState,
                             cancellation_token: CancellationToken) -> ProgressLedger | None:
        """The progress ledger; None when the model's reply stays invalid (counted as a stall)."""
        names = [name for name, _ in self.team_roster()]

        def known_speaker(ledger: ProgressLedger) -> None:
            if not ledger.is_request_satisfied and ledger.next_speaker not in names:
                raise ValueError(f"next_speaker {ledger.next_speaker!r} is not one of {names}")

        prompt = prompts.progress(task, plan, prompts.render_trajectory(state.trajectory), names)
        return await self._ledger("progress", ProgressLedger, prompt, state, cancellation_token, None,
                                  check=known_speaker)

    async def reflect(self, task: str, answer: str, stop_reason: StopReason, state: RunState,
                      cancellation_token: CancellationToken) -> tuple[Reflection, bool]:
        """A reflection from the model, else an offline trajectory digest; returns (reflection, from_model)."""
        history = prompts.render_trajectory(state.trajectory)
        found = await self._ledger("reflection", Reflection, prompts.reflection(task, history, answer, stop_reason),
                                   state, cancellation_token, None)
        if found is not None:
            return found, True
        acts = [s for s in state.trajectory if s.kind in ("act", "delegate")]
        failed = [s.instruction for s in acts if s.is_error]
        digest = (f"trajectory digest (offline): task {task[:160]!r} ended by {stop_reason} after {len(acts)} steps, "
                  f"{len(failed)} failed; answer {answer!r}.")
        return Reflection(insight=digest, what_failed=failed,
                          what_worked=[s.instruction for s in acts if not s.is_error]), False

    # -- the turn -------------------------------------------------------------------------------------
    async def _respond(self, messages: Sequence[BaseChatMessage], recollections: Sequence[Recollection],
                       state: RunState, cancellation_token: CancellationToken,
                       ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | FinalReply, None]:
        task = "\n\n".join(m.to_text() for m in messages if m.to_text().strip()) or "(no task given)"
        earlier = await self._context.get_messages()
        for message in messages:
            await self._context.add_message(message.to_model_message())
        if earlier:  # a follow-up in a chat: the earlier turns of this session frame the task
            lines = [f"{getattr(m, 'source', 'user')}: {m.content}" for m in earlier[-10:] if isinstance(m.content, str)]
            task = f"{task}\n\n(Earlier in this conversation:\n" + "\n".join(lines) + ")"
        self._facts_log: list[FactsLedger] = []
        self._plan_log: list[Plan] = []
        self._progress_log: list[ProgressLedger] = []
        self._reflection_text: str | None = None
        facts = await self.analyse(task, recollections, state, cancellation_token)
        self._facts_log.append(facts)
        yield ThoughtEvent(content=f"Facts:\n{facts.render()}", source=self.name)
        plan = await self.plan(task, facts, state, cancellation_token)
        stop: StopReason | None = None
        if plan is not None:
            self._plan_log.append(plan)
            yield ThoughtEvent(content=f"Plan:\n{plan.render()}", source=self.name)
            stalls = replans = 0
            while True:
                if stop := state.exhausted():
                    break
                state.rounds += 1
                progress = await self.check_progress(task, plan, state, cancellation_token)
                if progress is not None:
                    self._progress_log.append(progress)
                    yield ThoughtEvent(content=f"Progress: {progress.model_dump_json()}", source=self.name)
                    if progress.is_request_satisfied:
                        stop = "satisfied"
                        break
                stalls = stalls + 1 if progress is None or progress.stalled else max(0, stalls - 1)
                if stalls >= self.settings.max_stalls:
                    if replans >= self.settings.max_replans:
                        stop = "max_replans"
                        break
                    replans, stalls = replans + 1, 0
                    facts = await self.update_facts(task, facts, state, cancellation_token)
                    self._facts_log.append(facts)
                    new_plan = await self.plan(task, facts, state, cancellation_token)
                    if new_plan is not None:
                        plan = new_plan
                        self._plan_log.append(plan)
                    yield ThoughtEvent(content=f"Re-plan {replans}:\n{facts.render()}\nPlan:\n{plan.render()}",
                                       source=self.name)
                    continue
                if progress is None or state.exhausted(rounds=False):
                    continue
                async for event in self._execute(task, plan, progress, state, cancellation_token):
                    yield event
                if state.remaining_s() == 0:
                    stop = "max_time"
                    break
        stop = stop or "satisfied"
        text, answer, format_ok = "", "", False
        async for item in self._final_answer(task, stop, state, cancellation_token):
            if isinstance(item, tuple):
                text, answer, format_ok = item
            else:
                yield item
        if self.settings.memory.record_experience:
            state.memory_ids += await self._record_experience(task, answer, stop, state, cancellation_token)
        await self._context.add_message(AssistantMessage(content=text, source=self.name))
        yield FinalReply(text=text, stop_reason=stop, answer=answer, format_ok=format_ok)

    def _build_result(self, final: FinalReply, state: RunState, memory_ids: list[str]):  # noqa: ANN202
        result = super()._build_result(final, state, memory_ids)
        return result.model_copy(update={"facts": list(getattr(self, "_facts_log", [])),
                                         "plans": list(getattr(self, "_plan_log", [])),
                                         "progress": list(getattr(self, "_progress_log", [])),
                                         "reflection": getattr(self, "_reflection_text", None)})

    # -- steps ----------------------------------------------------------------------------------------
    async def _execute(self, task: str, plan: Plan, progress: ProgressLedger, state: RunState,
                       cancellation_token: CancellationToken) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage, None]:
        started = time.monotonic()
        speaker, instruction = progress.next_speaker, progress.instruction
        kind: StepKind = "act" if speaker == self.name else "delegate"
        step = Step(index=state.next_index(), kind=kind, speaker=speaker, instruction=instruction)
        events: list[BaseAgentEvent | BaseChatMessage] = []
        try:
            async with asyncio.timeout(state.remaining_s()):
                if kind == "act":
                    await self._act(task, plan, instruction, state, step, events, cancellation_token)
                else:
                    await self._delegate(task, instruction, step, events, cancellation_token)
        except TimeoutError:
            step.output, step.is_error = "the step was stopped by the time budget", True
        state.tokens.add(step.tokens.as_request_usage())
        step.elapsed_s = time.monotonic() - started
        for event in events:
            yield event
        await self._record(state, step)

    async def _act(self, task: str, plan: Plan, instruction: str, state: RunState, step: Step,
                   events: list[BaseAgentEvent | BaseChatMessage], cancellation_token: CancellationToken) -> None:
        messages: list[LLMMessage] = [SystemMessage(content=self.system_prompt()), UserMessage(
            content=prompts.step(task, plan, prompts.render_trajectory(state.trajectory), instruction), source="user")]
        async for item in run_tool_loop(self._model_client, messages, self.tools(), source=self.name,
                                        max_iterations=self.settings.max_tool_iterations,
                                        tool_timeout_s=self.settings.tool_timeout_s, stream=False,
                                        cancellation_token=cancellation_token):
            if isinstance(item, LoopOutcome):
                step.output, step.tool_calls, step.tokens = item.text, item.tool_calls, item.tokens
                step.is_error = item.any_error and all(c.is_error for c in item.tool_calls[-1:])
            else:
                events.append(item)

    async def _delegate(self, task: str, instruction: str, step: Step,
                        events: list[BaseAgentEvent | BaseChatMessage], cancellation_token: CancellationToken) -> None:
        member = self.members[step.speaker]
        request = TextMessage(content=prompts.delegate(task, instruction), source=self.name)
        response: Response | None = None
        async for item in member.on_messages_stream([request], cancellation_token):
            if isinstance(item, Response):
                response = item
            elif not isinstance(item, ModelClientStreamingChunkEvent):
                events.append(item)
                step.tokens.add(item.models_usage)
        assert response is not None
        events.append(response.chat_message)
        step.tokens.add(response.chat_message.models_usage)
        step.output = response.chat_message.to_text()

    async def _final_answer(self, task: str, stop: StopReason, state: RunState, cancellation_token: CancellationToken,
                            ) -> AsyncGenerator[BaseAgentEvent | tuple[str, str, bool], None]:
        fmt = self.settings.answer_format
        note = "" if stop == "satisfied" else f"The work stopped early ({stop}); answer with the best information found. "
        conversation: list[LLMMessage] = [
            SystemMessage(content=self.system_prompt()),
            UserMessage(content=prompts.final(task, prompts.render_trajectory(state.trajectory), note, fmt.instruction),
                        source="user")]
        usage = TokenUsage()
        text = ""
        for attempt in range(fmt.retries + 1):
            result: CreateResult | None = None
            if self._model_client_stream:
                async for chunk in self._model_client.create_stream(conversation, cancellation_token=cancellation_token):
                    if isinstance(chunk, CreateResult):
                        result = chunk
                    elif chunk:
                        yield ModelClientStreamingChunkEvent(content=chunk, source=self.name)
            else:
                result = await self._model_client.create(conversation, cancellation_token=cancellation_token)
            assert result is not None
            usage.add(result.usage)
            text = result.content if isinstance(result.content, str) else str(result.content)
            answer = fmt.extract(text)
            if answer is not None:
                break
            conversation += [AssistantMessage(content=text, source=self.name),
                             UserMessage(content=f"Give the final answer again in the required form. {fmt.instruction}",
                                         source="user")]
        state.tokens.add(usage.as_request_usage())
        ok = answer is not None
        if answer is None:
            lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
            answer = lines[-1] if lines else ""
        await self._record(state, Step(index=state.next_index(), kind="final", speaker=self.name, output=text,
                                       is_error=not ok, tokens=usage, elapsed_s=state.elapsed_s))
        yield text, answer, ok

    # -- ledgers and experience -------------------------------------------------------------------------
    async def _ledger(self, kind: StepKind, model: type[BaseModel], prompt: str, state: RunState,
                      cancellation_token: CancellationToken, fallback: Any, check: Any = None) -> Any:
        started = time.monotonic()
        messages: list[LLMMessage] = [SystemMessage(content=self.system_prompt()), UserMessage(content=prompt, source="user")]
        structured = self._model_client.model_info.get("structured_output", False)
        config = StructuredCallConfig(attempts=self.settings.json_retries + 1, timeout_s=None,
                                      json_mode="schema" if structured else "auto", retry_client_errors=False)
        try:
            reply = await structured_reply(self._model_client, messages, model, config, check=check, source=self.name,
                                           cancellation_token=cancellation_token)
            value, usage = reply.value, reply.usage
            step = Step(index=state.next_index(), kind=kind, speaker=self.name, output=reply.replies[-1],
                        ledger=value.model_dump(mode="json"))
        except StructuredOutputError as exc:
            value, usage = fallback, exc.usage
            step = Step(index=state.next_index(), kind=kind, speaker=self.name, output=str(exc), is_error=True,
                        ledger=fallback.model_dump(mode="json") if isinstance(fallback, BaseModel) else None)
        step.tokens.add(usage)
        step.elapsed_s = time.monotonic() - started
        state.tokens.add(usage)
        await self._record(state, step)
        return value

    async def _record_experience(self, task: str, answer: str, stop: StopReason, state: RunState,
                                 cancellation_token: CancellationToken) -> list[str]:
        reflection: Reflection | None = None
        from_model = False
        if self.settings.reflect:
            reflection, from_model = await self.reflect(task, answer, stop, state, cancellation_token)
            self._reflection_text = reflection.insight
        policy = await self.policy()
        scope = self.spec.session_scope
        trajectory = Record(
            kind=RecordKind.DOCUMENT, scope=scope, name=self.name, tags=["trajectory"],
            text=f"Trajectory of task: {task[:500]}\nAnswer: {answer}\nStopped: {stop}\n"
                 f"{prompts.render_trajectory(state.trajectory, limit=50)}",
            data={"task": task, "answer": answer, "stop_reason": stop, "tokens": state.tokens.model_dump(),
                  "steps": [s.model_dump(mode="json") for s in state.trajectory]})
        ledgers = [Record(kind=RecordKind.FACT, scope=scope, name=self.name, tags=["ledger", "facts"],
                          text=f"Facts for task {task[:200]!r}:\n{f.render()}", data=f.model_dump(mode="json"),
                          source_ids=[trajectory.id]) for f in self._facts_log]
        ledgers += [Record(kind=RecordKind.FACT, scope=scope, name=self.name, tags=["ledger", "plan"],
                           text=f"Plan for task {task[:200]!r}:\n{p.render()}", data=p.model_dump(mode="json"),
                           source_ids=[trajectory.id]) for p in self._plan_log]
        records = [trajectory, *ledgers]
        edges = [Edge(scope=scope, src=r.id, dst=trajectory.id, kind=EdgeKind.ATTACHED) for r in ledgers]
        if reflection is not None:
            tags = ["reflection"] if from_model else ["reflection", "offline-digest"]
            insight = Record(kind=RecordKind.INSIGHT, scope=scope, name=self.name, tags=tags, importance=0.8,
                             text=reflection.insight, data=reflection.model_dump(mode="json"),
                             source_ids=[trajectory.id])
            records.append(insight)
            edges.append(Edge(scope=scope, src=insight.id, dst=trajectory.id, kind=EdgeKind.DERIVED_FROM))
        return [r.id for r in await policy.record(records, edges)]

    # -- component config ------------------------------------------------------------------------------
    def _members(self) -> Sequence[Any]:
        return list(self.members.values())

    @classmethod
    def _init_kwargs(cls, config: ResponderConfig) -> dict[str, Any]:
        return {**super()._init_kwargs(config), "members": [BaseChatAgent.load_component(m) for m in config.members]}
