import { Pagination } from '@mantine/core'

const LABELS: Record<string, string> = {
  first: 'First page',
  previous: 'Previous page',
  next: 'Next page',
  last: 'Last page',
}

/** Pagination whose arrow buttons say what they do (screen readers have no icon to look at). */
export function Pages({ total, value, onChange }: { total: number; value: number; onChange: (page: number) => void }) {
  return (
    <nav aria-label="Pages">
      <Pagination
        total={total}
        value={value}
        onChange={onChange}
        getControlProps={(control) => ({ 'aria-label': LABELS[control] ?? control })}
        getItemProps={(page) => ({ 'aria-label': `Page ${page}` })}
      />
    </nav>
  )
}
