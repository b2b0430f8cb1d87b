export * from './mcp-connections';
