"""Modules: each file is one Apache module with its directives and hooks.

A few files are a part one module owns, named for it: ``static.py`` (core's
default handler and the safe file lookup dir and autoindex share),
``autoindex_page.py`` (autoindex's HTML page).

``builtin_modules()`` maps Apache's module names to the classes that implement them;
``LoadModule NAME anything`` with a built-in NAME loads the built-in.
"""

from __future__ import annotations

from mpmd.config.registry import Module


def builtin_modules() -> dict[str, type[Module]]:
    from mpmd.modules import (
        alias,
        authz_core,
        authz_host,
        autoindex,
        core,
        dir,
        log_config,
        metrics,
        mime,
        reqtimeout,
        so,
        status,
        wsgi,
    )
    from mpmd.mpm import event, prefork, winnt, worker

    classes: list[type[Module]] = [
        core.CoreModule,
        core.HttpModule,
        so.SoModule,
        mime.MimeModule,
        dir.DirModule,
        alias.AliasModule,
        authz_core.AuthzCoreModule,
        authz_host.AuthzHostModule,
        log_config.LogConfigModule,
        reqtimeout.ReqTimeoutModule,
        autoindex.AutoindexModule,
        wsgi.WsgiModule,
        status.StatusModule,
        metrics.MetricsModule,
        prefork.PreforkModule,
        worker.WorkerModule,
        event.EventModule,
        winnt.WinntModule,
    ]
    return {c.name: c for c in classes}
