-- GET of the URL given on the command line (backlog, search), with the token.
dofile(os.getenv("WRKDIR") .. "/common.lua")
