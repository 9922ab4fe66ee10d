"""A credentials block as a :class:`~prefect_zoom.auth.manager.TokenStore`.

Its load and save are the I/O the token manager's two shells carry out (the async shell in a
worker thread, so Prefect's client and pydantic never hold up an event loop); the rules live in
:mod:`prefect_zoom.auth.renewal`.

A saved block is the shared truth: reloading it shows what other processes stored; saving the
freshly reloaded copy with new tokens leaves other edits (made in the UI meanwhile) in place.
Once a process has saved a block class in full (type and schema registered), later saves are the
one ``PATCH`` of the stored document that Prefect's own save ends with: renewals wait on them.
An unsaved block keeps its tokens in memory only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from prefect_zoom._prefect_api import prefect_client
from prefect_zoom.auth.locks import prefect_api_url
from prefect_zoom.auth.tokens import TokenSet

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.schemas.actions import BlockDocumentUpdate

    from prefect_zoom.blocks._base import ZoomCredentialsBase


class BlockTokenStore:
    """Reload and save a credentials block's token fields."""

    def __init__(self, block: ZoomCredentialsBase) -> None:
        self.block = block
        self._loaded: ZoomCredentialsBase | None = None

    @property
    def lock_key(self) -> str:
        return self.block._lock_key()

    @property
    def recovery_key(self) -> str | None:
        """The saved block on its Prefect API (``None`` for an unsaved block: nothing to recover)."""
        name = self.block._saved_name()
        if name is None:
            return None
        return f"{prefect_api_url() or 'local'} {self.block.get_block_type_slug()} {name}"

    def current_tokens(self) -> TokenSet | None:
        return self.block._tokens()

    def load_tokens(self) -> TokenSet | None:
        name = self.block._saved_name()
        if name is None:
            return self.block._tokens()
        # Prefect's own sync ``load``, with the token path's client (see ``prefect_client``)
        block_class = type(self.block)
        with prefect_client() as client:
            document, _ = block_class._get_block_document(name, client=client)
        return self._reloaded(block_class._load_from_block_document(document))

    def _reloaded(self, loaded: object) -> TokenSet | None:
        """Keep the reloaded block (the next save writes the tokens into it) and give its tokens."""
        self._loaded = cast("ZoomCredentialsBase", loaded)
        return self._loaded._tokens()

    def _target(self, tokens: TokenSet) -> ZoomCredentialsBase:
        self.block.store_tokens(tokens)
        target = self._loaded or self.block
        target.store_tokens(tokens)
        return target

    def save_tokens(self, tokens: TokenSet) -> None:
        name = self.block._saved_name()
        target = self._target(tokens)
        if name is None:
            return
        update = _document_update(target, name)
        if update is not None:
            from prefect.exceptions import ObjectNotFound

            try:
                with prefect_client() as client:
                    client.update_block_document(*update)
                return
            except ObjectNotFound:  # deleted meanwhile: saved anew below
                pass
        target.save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]
        _registered.add(type(target))


_registered: set[type] = set()
"""Block classes this process saved in full once (their type and schema registered)."""


def _document_update(
    target: ZoomCredentialsBase, name: str
) -> tuple[UUID, BlockDocumentUpdate] | None:
    """The single request that writes ``target`` over its stored document, as Prefect's own
    ``save(overwrite=True)`` ends, without its three other round trips (type and schema look-ups,
    a create refused with 409): ``None`` when a full save is needed (the block was not loaded
    from the API, or its class was not saved in full yet in this process)."""
    from prefect.client.schemas.actions import BlockDocumentUpdate

    document_id = target._block_document_id
    if document_id is None or target._block_schema_id is None or type(target) not in _registered:
        return None
    document = target._to_block_document(name=name, include_secrets=True)
    return document_id, BlockDocumentUpdate(
        **document.model_dump(include={"block_schema_id", "data"})
    )
