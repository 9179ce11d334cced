import { type ExpressionBuilder, type SqlBool, sql } from 'kysely'
import type { DB } from '../db/types.ts'
import { isAdmin, type Principal } from './principal.ts'

/**
 * The condition "this team is visible to the caller", for any query over `teams`: admins see every team, anyone
 * else the OPEN teams and the CLOSED ones they belong to.
 */
export function teamVisibleTo(viewer: Pick<Principal, 'userId' | 'role'>) {
  return (eb: ExpressionBuilder<DB, 'teams'>) =>
    isAdmin(viewer)
      ? sql<SqlBool>`1 = 1`
      : eb.or([
          eb('teams.type', '=', 'OPEN'),
          eb(
            'teams.id',
            'in',
            eb.selectFrom('team_members as mine').select('mine.team_id').where('mine.user_id', '=', viewer.userId),
          ),
        ])
}
