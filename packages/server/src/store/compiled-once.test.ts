import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compiledOnce } from './compiled-once.ts';
import { migrate } from './database.ts';
import { testStores } from './stores.kit.ts';

for (const store of testStores('compiled')) {
  test(`a statement compiled once takes new values each time (${store.name})`, async () => {
    const { db, cleanup } = await store.open();
    try {
      await migrate(db);
      const k = db.kysely;
      const rename = compiledOnce(['call_id', 'caller_id'] as const, (v) =>
        k
          .updateTable('call_records')
          .set({ caller_id: v.caller_id })
          .where('call_id', '=', v.call_id),
      );
      for (const id of ['a', 'b']) {
        await k
          .insertInto('call_records')
          .values({
            call_id: id,
            caller_id: 'x',
            callee_id: 'y',
            call_type: 1,
            status: 0,
            duration: 0,
            created_at: '2026-01-01T00:00:00.000Z',
            updated_at: '2026-01-01T00:00:00.000Z',
            media: 'audio',
            caller_device: 'd',
            owner_node: 'n',
          })
          .execute();
      }
      await k.executeQuery(rename({ call_id: 'a', caller_id: 'alice' }));
      await k.executeQuery(rename({ call_id: 'b', caller_id: 'bob' }));
      const rows = await k.selectFrom('call_records').select(['call_id', 'caller_id']).execute();
      assert.deepEqual(
        rows.sort((x, y) => x.call_id.localeCompare(y.call_id)),
        [
          { call_id: 'a', caller_id: 'alice' },
          { call_id: 'b', caller_id: 'bob' },
        ],
      );
      // A value written into the statement instead of a named one would be the same every time.
      assert.throws(
        () =>
          compiledOnce(['call_id'] as const, (v) =>
            k.updateTable('call_records').set({ status: 3 }).where('call_id', '=', v.call_id),
          ),
        /parameter 3 is not a named value/,
      );
    } finally {
      await cleanup();
    }
  });
}
