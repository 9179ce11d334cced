import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { type ApiReader, callTool, TOOLS } from './tools.ts'

/** What an assistant is told about docent when it connects. */
const INSTRUCTIONS = [
  'docent is a data catalog: it knows which databases, schemas, tables and columns exist, what they mean, who owns',
  'them and how data flows between them (lineage). It does not hold or query the data itself.',
  "To answer a question about data: search_data_assets to find candidate tables, retrieve_entity for a table's",
  'columns and documentation, entity_lineage for where it comes from; search_documentation and glossary for what',
  'terms mean. list_resources lists by exact conditions (a filter). Everything answered is what the API key may see.',
].join(' ')

/** An MCP server (the official SDK's) whose tools read the catalog through `read`. */
export function mcpServer(read: ApiReader, onError: (error: unknown) => void, version = '0.1.0'): Server {
  const server = new Server({ name: 'docent', version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: TOOLS.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
  }))
  server.setRequestHandler(CallToolRequestSchema, async (request) =>
    callTool(request.params.name, request.params.arguments, read, onError),
  )
  return server
}
