import { Typography } from '@mantine/core'
import ReactMarkdown from 'react-markdown'

/**
 * A definition's Markdown, rendered safely: raw HTML in it is dropped (never run), and links to anything but
 * http(s) and mailto lose their target (react-markdown's URL rule).
 */
export default function Markdown({ text }: { text: string }) {
  return (
    <Typography>
      <ReactMarkdown skipHtml>{text}</ReactMarkdown>
    </Typography>
  )
}
