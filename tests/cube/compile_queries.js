// Compile a Cube model folder with Cube's own schema compiler and print the SQL Cube generates for
// each query: node compile_queries.js MODEL_DIR QUERIES_JSON > OUT_JSON
// NODE_PATH names the node_modules holding @cubejs-backend/schema-compiler (installed by the tests).
'use strict';
const fs = require('fs');
const path = require('path');
const { prepareCompiler, PostgresQuery } = require('@cubejs-backend/schema-compiler');

const [modelDir, queriesFile] = process.argv.slice(2);
const repository = {
  localPath: () => modelDir,
  dataSchemaFiles: async () => fs.readdirSync(modelDir)
    .filter((name) => name.endsWith('.yml'))
    .map((fileName) => ({ fileName, content: fs.readFileSync(path.join(modelDir, fileName), 'utf8') })),
};

async function main() {
  const compilers = prepareCompiler(repository, { adapter: 'postgres' });
  await compilers.compiler.compile();
  const queries = JSON.parse(fs.readFileSync(queriesFile, 'utf8'));
  const answers = queries.map((query) => {
    try {
      const [sql, params] = new PostgresQuery(compilers, query).buildSqlAndParams();
      return { sql, params };
    } catch (error) {
      return { error: String(error.message || error) };
    }
  });
  process.stdout.write(JSON.stringify(answers));
}

main().catch((error) => {
  const details = error.messages ? `${error.message}\n${error.messages}` : String(error.stack || error);
  process.stderr.write(details + '\n');
  process.exit(1);
});
