// Tests read source files (fixtures, schemas, docker-compose.yml) from the repository.
export { REPO_ROOT, repoPath } from '../../common/repo.js'
