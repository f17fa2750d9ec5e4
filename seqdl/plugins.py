"""Finding, loading and querying seqdl plugins.

Plugins are modules named by entry points in the ``seqdl`` group, the
built-in ones included. Each entry point is loaded on its own, and each
plugin's hook implementation is called on its own, so one broken plugin costs
a one-line warning rather than the whole command line.

Environment:

``SEQDL_LOAD_PLUGINS=a,b``
    load only these entry points (set but empty: load none);
``SEQDL_DISABLE_PLUGINS=a,b``
    never load these;
``SEQDL_PLUGIN_ERRORS=raise``
    a plugin that fails to load, raises in a hook, or conflicts with another
    is fatal instead of a warning.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import sys
import threading
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginConflictError, PluginError

__all__ = ["CORE_OWNER", "ENTRY_POINT_GROUP", "PluginHost", "PluginInfo", "check_options", "current_host",
           "default_host", "lookup", "registry"]

ENTRY_POINT_GROUP = "seqdl"

#: The owner recorded for commands and registrations made by seqdl itself.
CORE_OWNER = "seqdl"

#: Registration hooks and the kind of thing each registers (used in messages).
REGISTRY_HOOKS = {
    "decoders": "register_decoders",
    "projections": "register_projections",
    "analogy_methods": "register_analogy_methods",
}


@dataclass
class PluginInfo:
    """What ``seqdl plugins`` reports about one plugin."""

    name: str
    module: str | None = None
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The info as a JSON-serialisable dict."""
        return asdict(self)


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _strict() -> bool:
    return os.environ.get("SEQDL_PLUGIN_ERRORS", "").strip().lower() == "raise"


def _warn(message: str) -> None:
    print(f"seqdl: warning: {message}", file=sys.stderr)


def _warn_unknown_names(only: set[str] | None, blocked: set[str], installed: set[str]) -> None:
    """Warn about plugin names in SEQDL_LOAD_PLUGINS / SEQDL_DISABLE_PLUGINS that no installed plugin has."""
    available = ", ".join(sorted(installed)) or "none"
    for variable, names in (("SEQDL_LOAD_PLUGINS", only or set()), ("SEQDL_DISABLE_PLUGINS", blocked)):
        unknown = sorted(names - installed)
        if unknown:
            quoted = ", ".join(map(repr, unknown))
            noun = "plugin" if len(unknown) == 1 else "plugins"
            _warn(f"{variable} names no installed {noun} {quoted} (installed: {available})")


def _call(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one hook implementation with just the arguments it names, as pluggy does.

    Hooks only ever gain optional arguments, so an older plugin that names
    fewer of them keeps working.
    """
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


#: Signals whose Python handler may raise KeyboardInterrupt in the main thread (Ctrl-C; SIGTERM/SIGHUP in the CLI).
_INTERRUPTS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _plugin_code() -> Any:
    """Run a plugin's code; yield a list that holds a signal number if a signal arrived meanwhile.

    A plugin must not be able to end the process: its ``SystemExit`` or its
    own ``KeyboardInterrupt`` is a plugin failure. The user's Ctrl-C (or
    SIGTERM) during that code is not, so the Python handlers of those signals
    are wrapped to record their arrival.
    """
    arrived: list[int] = []
    wrapped: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _INTERRUPTS:
            handler = signal.getsignal(signum)
            if callable(handler):
                def mark(number, frame, _handler=handler):
                    arrived.append(number)
                    _handler(number, frame)

                wrapped[signum] = handler
                signal.signal(signum, mark)
    try:
        yield arrived
    finally:
        for signum, handler in wrapped.items():
            signal.signal(signum, handler)


def _is_plugin_failure(exc: BaseException, arrived: list[int]) -> bool:
    """Whether ``exc``, raised while plugin code ran, is the plugin's failure rather than the process being stopped."""
    if isinstance(exc, Exception):
        return True
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return not arrived
    return False  # GeneratorExit and the like are Python's own business


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class PluginHost:
    """Owns seqdl's pluggy manager, the plugin list and the registries built from hooks.

    >>> host = PluginHost()
    >>> host.load_entry_points()        # the installed plugins, honouring the environment
    >>> host.registry("projections")    # {'tsne': fn, 'pca': fn, ...}
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, dict[str, str]] = {}

    # -- loading -----------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every entry point of ``group`` allowed by the environment, each on its own."""
        only = _names_from_env("SEQDL_LOAD_PLUGINS")
        blocked = _names_from_env("SEQDL_DISABLE_PLUGINS") or set()
        found = sorted(metadata.entry_points(group=group), key=lambda e: e.name)
        _warn_unknown_names(only, blocked, {ep.name for ep in found})
        seen: set[str] = set()
        for ep in found:
            if ep.name in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            self._infos[ep.name] = info
            if ep.name in blocked or (only is not None and ep.name not in only):
                info.disabled = True
                continue
            loaded, plugin = self._guarded(ep.name, "failed to load", ep.load)
            if loaded:
                self._register(plugin, info)

    def register(self, plugin: object, name: str, distribution: str | None = None, version: str | None = None) -> None:
        """Register a plugin object (module or instance) directly, as tests and scripts may."""
        info = PluginInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__),
                          distribution=distribution, version=version)
        self._infos[name] = info
        self._register(plugin, info)

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validates hook names and signatures
            self._fail(info.name, f"failed to register: {_describe(exc)}", exc)
            return
        info.hooks = sorted(impl for impl in dir(self.pm.hook)
                            if not impl.startswith("_")
                            and any(h.plugin_name == info.name for h in getattr(self.pm.hook, impl).get_hookimpls()))
        self._registries.clear()

    def _guarded(self, plugin_name: str, what: str, function: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """Run plugin code ``function(*args, **kwargs)``: ``(True, result)``, or ``(False, None)`` once its
        failure is reported as ``plugin 'NAME' WHAT: error``.

        A broken plugin must not break seqdl, nor exit it: see :func:`_plugin_code`.
        """
        arrived: list[int] = []
        try:
            with _plugin_code() as arrived:
                return True, function(*args, **kwargs)
        except BaseException as exc:
            if not _is_plugin_failure(exc, arrived):
                raise
            self._fail(plugin_name, f"{what}: {_describe(exc)}", exc)
            return False, None

    def _fail(self, plugin_name: str, message: str, exc: BaseException | None = None) -> None:
        info = self._infos.setdefault(plugin_name, PluginInfo(name=plugin_name))
        info.error = message if info.error is None else f"{info.error}; {message}"
        if _strict():
            raise PluginError(f"plugin {plugin_name!r} {message}") from exc
        _warn(f"plugin {plugin_name!r} {message}")

    # -- queries -----------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin found, loaded or not, sorted by name."""
        return [self._infos[name] for name in sorted(self._infos)]

    def registry(self, kind: str) -> dict[str, Any]:
        """The objects plugins registered for ``kind`` ('decoders', 'projections', 'analogy_methods').

        Each plugin's hook runs on its own: one that raises is reported and
        contributes nothing; a name claimed twice is a
        :class:`~seqdl.errors.PluginConflictError` naming both plugins.
        """
        if kind not in REGISTRY_HOOKS:
            raise KeyError(f"unknown registry {kind!r}; choose from {sorted(REGISTRY_HOOKS)}")
        if kind not in self._registries:
            self._registries[kind], self._owners[kind] = self._collect(kind)
        return self._registries[kind]

    def owner(self, kind: str, name: str) -> str:
        """The plugin that registered ``name`` in registry ``kind``."""
        self.registry(kind)
        return self._owners[kind][name]

    def _collect(self, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
        singular = kind[:-1].replace("_", " ")
        merged: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for impl in getattr(self.pm.hook, REGISTRY_HOOKS[kind]).get_hookimpls():
            found: dict[str, Any] = {}

            def register(name: str, obj: Any, _found: dict = found) -> None:
                if name in _found:
                    raise PluginError(f"registered {singular} {name!r} twice")
                _found[name] = obj

            if not self._guarded(impl.plugin_name, f"raised in {REGISTRY_HOOKS[kind]}", _call, impl,
                                 register=register)[0]:
                continue
            for name, obj in found.items():
                if name in owners:
                    conflict = PluginConflictError(singular, name, owners[name], impl.plugin_name)
                    self._fail(impl.plugin_name, f"conflicts: {conflict}", conflict)
                    continue
                merged[name], owners[name] = obj, impl.plugin_name
        return merged, owners

    def add_commands(self, cli, owners: dict[str, str]) -> None:
        """Let each plugin add its commands to the click group ``cli``.

        ``owners`` maps existing command names to who added them and is
        updated. A plugin that raises has its partial additions removed; one
        that replaces an existing command is reported and the original kept.
        """
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = dict(cli.commands)
            if not self._guarded(impl.plugin_name, "raised in register_commands", _call, impl, cli=cli)[0]:
                cli.commands.clear()  # withdraw what the failed hook added before it raised
                cli.commands.update(before)
                continue
            for name, command in list(cli.commands.items()):
                if before.get(name) is command:
                    continue
                if name in before:
                    cli.commands[name] = before[name]
                    conflict = PluginConflictError("command", name, owners[name], impl.plugin_name)
                    self._fail(impl.plugin_name, f"conflicts: {conflict}", conflict)
                else:
                    owners[name] = impl.plugin_name


_default_host: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide host with the installed plugins loaded (built on first use)."""
    global _default_host
    if _default_host is None:
        host = PluginHost()
        host.load_entry_points()
        _default_host = host
    return _default_host


def current_host() -> PluginHost:
    """The host of the running ``seqdl`` command line, or :func:`default_host` outside one.

    :func:`seqdl.cli.make_cli` makes its host the click context object, so a
    command built around a test's host sees that host's plugins.
    """
    import click

    context = click.get_current_context(silent=True)
    host = context.find_object(PluginHost) if context is not None else None
    return host if host is not None else default_host()


def registry(kind: str, host: PluginHost | None = None) -> dict[str, Any]:
    """The registry ``kind`` of ``host`` (default: :func:`current_host`)."""
    return (host or current_host()).registry(kind)


def lookup(kind: str, name: str, host: PluginHost | None = None) -> Any:
    """The object registered as ``name`` in registry ``kind`` of ``host`` (default: :func:`current_host`).

    An unknown name is a one-line :class:`~seqdl.errors.SeqdlError` listing the choices.
    """
    from .errors import SeqdlError

    entries = registry(kind, host)
    if name not in entries:
        choices = ", ".join(sorted(entries)) or "none installed"
        raise SeqdlError(f"unknown {kind[:-1].replace('_', ' ')} {name!r} (available: {choices})")
    return entries[name]


def check_options(what: str, function: Any, options: dict[str, Any], skip: int = 0) -> None:
    """Refuse keyword ``options`` that ``function`` (a plugin's factory or function) does not take.

    The error is one line naming ``what`` (e.g. ``"decoder 'beam'"``) and the
    options it does take; the first ``skip`` parameters are the caller's own
    arguments, not options. A function taking ``**kwargs``, or one whose
    signature cannot be read, is left for the call itself to judge.
    """
    from .errors import SeqdlError

    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                          inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [name for name in options if name not in accepted]
    if unknown:
        takes = ", ".join(accepted) if accepted else "no options"
        noun = "option" if len(unknown) == 1 else "options"
        raise SeqdlError(f"{what} has no {noun} {', '.join(map(repr, unknown))} (it takes: {takes})")
