"""A credentials block as a :class:`~prefect_zoom.auth.manager.TokenStore`.

Its load and save come in a sync and an async form because Prefect's block API does: they are
the I/O the token manager's two shells carry out; the rules live in :mod:`prefect_zoom.auth.renewal`.

A saved block is the shared truth: reloading it shows what other processes stored; saving the
freshly reloaded copy with new tokens leaves other edits (made in the UI meanwhile) in place.
An unsaved block keeps its tokens in memory only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from prefect_zoom.auth.locks import prefect_api_url
from prefect_zoom.auth.tokens import TokenSet

if TYPE_CHECKING:
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
        return self._reloaded(type(self.block).load(name, _sync=True))  # type: ignore[call-arg]

    async def aload_tokens(self) -> TokenSet | None:
        name = self.block._saved_name()
        if name is None:
            return self.block._tokens()
        return self._reloaded(await type(self.block).aload(name))

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
        if name is not None:
            target.save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]

    async def asave_tokens(self, tokens: TokenSet) -> None:
        name = self.block._saved_name()
        target = self._target(tokens)
        if name is not None:
            await target.asave(name, overwrite=True)
